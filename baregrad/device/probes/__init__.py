"""Import-light probes: one module per backend, each with `probe() -> str | None` (None: the device may work here,
else why it cannot). A probe checks files, PATH and installed packages only; it never imports its backend."""
