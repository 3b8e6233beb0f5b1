"""The printable device label: the stable device id in large type and as a QR code."""

from __future__ import annotations

import io
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont

from provisioning.model import Device
from spine.files import write_file_atomic


def label_payload(device: Device) -> str:
    """What the QR code says: the id and where it belongs. Never a secret."""
    window = f"&window={device.window}" if device.window else ""
    return f"hallwatch:device/{device.id}?hall={device.hall}&kind={device.kind.value}{window}"


def label_lines(device: Device) -> list[str]:
    lines = [device.id, f"hall {device.hall} / {device.kind.value}"]
    if device.window:
        lines.append(f"window {device.window}")
    if device.serial:
        lines.append(f"serial {device.serial}")
    return lines


def render_label(device: Device) -> bytes:
    """A PNG about 50 x 25 mm at 203 dpi (a common label printer), QR left, text right."""
    qr = qrcode.QRCode(border=2, box_size=5, error_correction=qrcode.constants.ERROR_CORRECT_M)
    qr.add_data(label_payload(device))
    qr.make(fit=True)
    code = qr.make_image(fill_color="black", back_color="white").get_image().convert("L")
    height = max(code.height, 200)
    image = Image.new("L", (code.width + 420, height), 255)
    image.paste(code, (0, (height - code.height) // 2))
    draw = ImageDraw.Draw(image)
    try:
        big = ImageFont.load_default(size=30)
        small = ImageFont.load_default(size=20)
    except TypeError:  # Pillow without FreeType sizes
        big = small = ImageFont.load_default()
    y = 20
    for n, line in enumerate(label_lines(device)):
        draw.text((code.width + 10, y), line, fill=0, font=big if n == 0 else small)
        y += 40 if n == 0 else 28
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def write_label(device: Device, directory: Path) -> Path:
    path = Path(directory) / f"{device.id}.png"
    write_file_atomic(path, render_label(device))
    return path
