"""The Teams app's two icons, drawn in code as PNG: a colour icon (192×192, white mark on the
accent colour) and an outline icon (32×32, white mark on transparency), as Teams requires.

The mark is a ring with a tick in it ("checked trip"), anti-aliased from its distance field, and
encoded with zlib and struct alone, so no imaging library is needed."""

from __future__ import annotations

import itertools
import math
import struct
import zlib
from collections.abc import Sequence

COLOR_SIZE = 192
OUTLINE_SIZE = 32
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
WHITE = (255, 255, 255)

# The mark in units of its box (0..1): a ring, and a tick as a thick polyline.
_RING_RADIUS = 0.44
_RING_HALF_WIDTH = 0.045
_TICK = ((0.29, 0.52), (0.44, 0.67), (0.72, 0.37))
_TICK_HALF_WIDTH = 0.055
# How much of the colour icon the mark fills (Teams asks for a 96 px symbol on 192 px), and the
# outline icon's margin in pixels.
_COLOR_MARK = 0.58
_OUTLINE_MARGIN = 1


def color_icon(accent: str) -> bytes:
    """The 192×192 colour icon: the white mark on an opaque `accent` (#RRGGBB) background."""
    background = _rgb(accent)
    box = COLOR_SIZE * _COLOR_MARK
    offset = (COLOR_SIZE - box) / 2
    pixels = []
    for y in range(COLOR_SIZE):
        row = []
        for x in range(COLOR_SIZE):
            cover = _coverage((x + 0.5 - offset) / box, (y + 0.5 - offset) / box, box)
            red, green, blue = (
                round(b + (w - b) * cover) for b, w in zip(background, WHITE, strict=True)
            )
            row.append((red, green, blue, 255))
        pixels.append(row)
    return encode_png(pixels)


def outline_icon() -> bytes:
    """The 32×32 outline icon: the mark in white, everything else fully transparent."""
    box = OUTLINE_SIZE - 2 * _OUTLINE_MARGIN
    pixels = []
    for y in range(OUTLINE_SIZE):
        row = []
        for x in range(OUTLINE_SIZE):
            cover = _coverage(
                (x + 0.5 - _OUTLINE_MARGIN) / box, (y + 0.5 - _OUTLINE_MARGIN) / box, box
            )
            row.append((*WHITE, round(255 * cover)))
        pixels.append(row)
    return encode_png(pixels)


def encode_png(pixels: Sequence[Sequence[tuple[int, int, int, int]]]) -> bytes:
    """An 8-bit RGBA PNG of rows of (r, g, b, a) pixels."""
    height, width = len(pixels), len(pixels[0])
    raw = b"".join(
        # Each scanline starts with its filter type; 0 is "none".
        b"\x00" + bytes(channel for pixel in row for channel in pixel)
        for row in pixels
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"".join(
        [
            PNG_SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"IDAT", zlib.compress(raw, 9)),
            _chunk(b"IEND", b""),
        ]
    )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _coverage(u: float, v: float, box: float) -> float:
    """How much of the pixel at (u, v), in units of the mark's box `box` pixels wide, the
    mark covers: 1 inside, 0 outside, in between within half a pixel of its edge."""
    ring = abs(math.hypot(u - 0.5, v - 0.5) - _RING_RADIUS) - _RING_HALF_WIDTH
    tick = min(_segment_distance(u, v, a, b) for a, b in itertools.pairwise(_TICK))
    tick -= _TICK_HALF_WIDTH
    distance_in_pixels = min(ring, tick) * box
    return min(1.0, max(0.0, 0.5 - distance_in_pixels))


def _segment_distance(
    u: float, v: float, start: tuple[float, float], end: tuple[float, float]
) -> float:
    (ax, ay), (bx, by) = start, end
    dx, dy = bx - ax, by - ay
    along = max(0.0, min(1.0, ((u - ax) * dx + (v - ay) * dy) / (dx * dx + dy * dy)))
    return math.hypot(u - (ax + along * dx), v - (ay + along * dy))


def _rgb(color: str) -> tuple[int, int, int]:
    value = color.removeprefix("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16))
