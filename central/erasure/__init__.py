"""Erasing personal data: a citizen's request (`eraser.Eraser.erase_phone`) and the retention
rule (`eraser.Eraser.erase_due`, by `central.personal.retention`), across every place central
keeps it (`places`). The keys and the sealing are `central.personal`; this package decides what
to erase and when, and logs that it did. See docs/security.md ("Personal data")."""
