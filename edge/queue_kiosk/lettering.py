"""Chinese text on a thermal printer: as GBK bytes when that is safe, as an image when it is not.

python-escpos sends any text holding a common Han character as GB18030. Most
printers sold for tickets carry a GBK (GB2312 + extensions) font: every
character GB18030 writes in four bytes (rare characters of people's and
places' names from CJK Extension A/B, `¥` U+00A5, newer characters past
U+9FA5) comes out as two garbage glyphs. So a line goes out as bytes only when
each of its characters has the same one- or two-byte code in GBK and GB18030;
any other line is drawn with a font that has the glyphs and printed as a
raster image. A glyph that no configured font has is drawn as '□' and logged,
never guessed.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

log = logging.getLogger(__name__)

MISSING = "□"
# Debian packages: fonts-wqy-microhei, fonts-wqy-zenhei, fonts-noto-cjk, fonts-hanazono (Extension B).
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinA.ttf",
    "/usr/share/fonts/truetype/hanazono/HanaMinB.ttf",
)


def gbk_bytes(text: str) -> bytes | None:
    """The bytes a GBK-font printer renders correctly, or None when the text needs an image."""
    try:
        gbk = text.encode("gbk")
    except UnicodeEncodeError:
        return None
    # Same bytes both ways: no four-byte GB18030 sequence, and none of the few
    # code points (e.g. the euro sign) the two standards write differently.
    return gbk if gbk == text.encode("gb18030") else None


def discover_fonts(configured: Path | None) -> list[Path]:
    """The configured font first, then the Han fonts Debian packages install, as present."""
    found = [configured] if configured is not None and configured.exists() else []
    if configured is not None and not found:
        log.error("font %s does not exist; looking for an installed Han font", configured)
    found += [Path(p) for p in FONT_CANDIDATES if Path(p).exists() and Path(p) != configured]
    return found


class Letterer:
    """Draws a line of text as a 1-bit image `dots` wide, centred, falling back font by font."""

    def __init__(self, fonts: list[Path], dots: int, size: int = 28) -> None:
        self.dots = dots
        self.size = size
        self.fonts: list[ImageFont.FreeTypeFont | ImageFont.ImageFont] = [
            ImageFont.truetype(str(path), size) for path in fonts
        ]
        if not self.fonts:
            log.error("no font with Han glyphs found (install fonts-wqy-microhei): "
                      "lines that need an image print '%s' for each Han character", MISSING)
            self.fonts = [ImageFont.load_default(size)]
        self._reported: set[str] = set()

    @lru_cache(maxsize=512)  # noqa: B019 - one Letterer per kiosk, lives as long as it
    def _font_for(self, char: str) -> int | None:
        for index, font in enumerate(self.fonts):
            if char.isspace() or _has_glyph(font, char):
                return index
        return None

    def render(self, text: str, scale: int = 1) -> Image.Image:
        runs: list[tuple[str, int]] = []
        for char in text:
            index = self._font_for(char)
            if index is None:
                if char not in self._reported:
                    self._reported.add(char)
                    log.warning("no font has U+%04X: printed as %s", ord(char), MISSING)
                char, index = MISSING, self._font_for(MISSING) or 0
            if runs and runs[-1][1] == index:
                runs[-1] = (runs[-1][0] + char, index)
            else:
                runs.append((char, index))
        fonts = [self._sized(index, scale) for index in range(len(self.fonts))]
        width = sum(int(fonts[i].getlength(run)) for run, i in runs)
        height = self.size * scale + 8
        image = Image.new("1", (self.dots, height), 1)
        draw = ImageDraw.Draw(image)
        x = max(0, (self.dots - width) // 2)
        for run, i in runs:
            draw.text((x, 2), run, font=fonts[i], fill=0)
            x += int(fonts[i].getlength(run))
        return image

    def _sized(self, index: int, scale: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
        font = self.fonts[index]
        if scale == 1 or not isinstance(font, ImageFont.FreeTypeFont):
            return font
        return font.font_variant(size=self.size * scale)


def _has_glyph(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, char: str) -> bool:
    """A font without the glyph draws its 'missing' box: the same as for a code point nobody has."""
    try:
        drawn = _draw(font, char)
    except (UnicodeEncodeError, OSError):
        return False
    return drawn.getbbox() is not None and drawn.tobytes() != _draw(font, "\U0010fffd").tobytes()


def _draw(font: ImageFont.FreeTypeFont | ImageFont.ImageFont, char: str) -> Image.Image:
    size = int(getattr(font, "size", 16)) * 2
    image = Image.new("L", (size, size), 0)
    ImageDraw.Draw(image).text((0, 0), char, font=font, fill=255)
    return image
