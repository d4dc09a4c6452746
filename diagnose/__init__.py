"""broadband-diagnose: observe the machine and the network, then sort the fault to a side."""
__version__ = "0.1.0"
