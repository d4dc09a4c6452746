"""What ships: the wheel built from the checkout, and the package loading on every OS (mypy).
Slow external tools (pip, mypy), so a tier of its own: the whole suite runs it, the unit suite does not."""
