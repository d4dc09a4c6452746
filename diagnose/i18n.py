"""The tool's own words in English and Simplified Chinese (rule texts live in the rule pack)."""
from __future__ import annotations

import os
from typing import Mapping

LANGS = ("en", "zh_CN")

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "call_operator": "Call {isp} and read out the code {code}.",
        "call_operator_account": "Call {isp} about your account and read out the code {code}.",
        "your_operator": "your operator",
        "sharper_as_admin": "Run diagnose again as administrator (sudo) for a sharper answer.",
        "fallback_title": "No clear cause was found.",
        "fallback_advice": "Restart the router and this computer, then run diagnose again.",
        "what_to_do": "What to do:",
        "checks": "Checks:",
        "findings": "Also found:",
        "consequence": "(follows from {rule})",
        "confidence": "Confidence: {confidence}",
        "confidence_high": "high", "confidence_medium": "medium", "confidence_low": "low",
        "ticket_yes": "A ticket for the operator is warranted.",
        "status_ok": "ok", "status_problem": "problem", "status_skipped": "skipped",
        "status_error": "error", "status_timeout": "timeout",
        "check_interfaces": "adapters", "check_route": "route", "check_addressing": "address",
        "check_gateway": "gateway", "check_dns": "DNS", "check_internet": "internet",
        "check_proxy": "proxy", "check_pppoe": "PPPoE",
        "interrupted": "Interrupted: the report below is partial.",
        "running": "Checking {check}...",
    },
    "zh_CN": {
        "call_operator": "请致电{isp}，并报出代码 {code}。",
        "call_operator_account": "请就您的账户致电{isp}，并报出代码 {code}。",
        "your_operator": "您的运营商",
        "sharper_as_admin": "以管理员身份（sudo）再次运行 diagnose，可以得到更准确的结论。",
        "fallback_title": "没有找到明确的原因。",
        "fallback_advice": "请重启路由器和这台电脑，然后再次运行 diagnose。",
        "what_to_do": "建议操作：",
        "checks": "检查项目：",
        "findings": "其他发现：",
        "consequence": "（由 {rule} 引起）",
        "confidence": "可信度：{confidence}",
        "confidence_high": "高", "confidence_medium": "中", "confidence_low": "低",
        "ticket_yes": "需要向运营商报修。",
        "status_ok": "正常", "status_problem": "异常", "status_skipped": "跳过",
        "status_error": "出错", "status_timeout": "超时",
        "check_interfaces": "网卡", "check_route": "路由", "check_addressing": "IP 地址",
        "check_gateway": "网关", "check_dns": "DNS", "check_internet": "互联网",
        "check_proxy": "代理", "check_pppoe": "PPPoE 拨号",
        "interrupted": "已中断：以下报告不完整。",
        "running": "正在检查 {check}……",
    },
}


def t(lang: str, key: str, **values: str) -> str:
    text = MESSAGES.get(lang, MESSAGES["en"]).get(key) or MESSAGES["en"][key]
    return text.format(**values) if values else text


def from_locale(env: Mapping[str, str] | None = None) -> str:
    """zh_CN for a Chinese locale (LC_ALL, LC_MESSAGES, LANG, LANGUAGE), else English."""
    env = os.environ if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = env.get(name)
        if value:
            return "zh_CN" if value.lower().startswith("zh") else "en"
    return "en"
