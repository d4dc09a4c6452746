"""The operator's profile is found without --profile: the user's file, then the system's."""
from __future__ import annotations

from pathlib import Path

from diagnose import profile, profile_search


def place(root: Path, text: str) -> Path:
    path = root / "broadband-diagnose" / "profile.yaml"
    path.parent.mkdir(parents=True)
    path.write_text(text)
    return path


def test_user_file_first_then_the_system_file(tmp_path):
    env = {"HOME": str(tmp_path / "home"), "XDG_CONFIG_DIRS": str(tmp_path / "xdg")}
    assert profile_search.find(env, windows=False) in (None, "/etc/broadband-diagnose/profile.yaml")
    system = place(tmp_path / "xdg", "name: operator\n")
    assert profile_search.find(env, windows=False) == str(system)
    user = place(tmp_path / "home" / ".config", "name: mine\n")
    assert profile_search.find(env, windows=False) == str(user)
    env["XDG_CONFIG_HOME"] = str(tmp_path / "elsewhere")
    assert profile_search.find(env, windows=False) == str(system)


def test_etc_is_always_looked_at_last():
    places = profile_search.candidates({"HOME": "/home/x"}, windows=False)
    assert places[0] == Path("/home/x/.config/broadband-diagnose/profile.yaml")
    assert places[-2:] == [Path("/etc/xdg/broadband-diagnose/profile.yaml"),
                           Path("/etc/broadband-diagnose/profile.yaml")]


def test_windows_places():
    places = profile_search.candidates({"APPDATA": r"C:\Users\x\AppData\Roaming",
                                        "PROGRAMDATA": r"C:\ProgramData"}, windows=True)
    assert [p.parts[-2:] for p in places] == [("broadband-diagnose", "profile.yaml")] * 2
    assert "Roaming" in str(places[0]) and "ProgramData" in str(places[1])


def test_found_profile_is_loaded_and_given_one_overrides(tmp_path, monkeypatch):
    found = place(tmp_path / "cfg", "name: found-one\n")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    assert profile.load(None)["name"] == "found-one"
    given = tmp_path / "given.yaml"
    given.write_text("name: given-one\n")
    assert profile.load(str(given))["name"] == "given-one"
    found.unlink()
    assert profile.load(None)["name"] == "default-cn" or Path(
        "/etc/broadband-diagnose/profile.yaml").is_file()
