#!/usr/bin/env python3
"""Rebuild NotoSansSC-gb2312.otf: Noto Sans CJK SC cut down to GB2312 + ASCII + CJK punctuation.

Needs Debian's fonts-noto-cjk and `pip install fonttools`. Run from this folder:
    python3 make-subset.py
"""
import subprocess
from fontTools.ttLib import TTCollection

SRC = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

chars = set()
for hi in range(0xA1, 0xF8):
    for lo in range(0xA1, 0xFF):
        try:
            chars.add(bytes([hi, lo]).decode("gb2312"))
        except UnicodeDecodeError:
            pass
chars.update(chr(c) for c in range(0x20, 0x7F))          # ASCII
chars.update(chr(c) for c in range(0x3000, 0x3040))      # CJK symbols and punctuation
chars.update(chr(c) for c in range(0xFF00, 0xFFF0))      # full-width forms
chars.update("￥¥·—…“”‘’《》【】「」→←↑↓✓✔✕×")

index = next(i for i, f in enumerate(TTCollection(SRC).fonts)
             if f["name"].getDebugName(1) == "Noto Sans CJK SC")
with open("subset-chars.txt", "w", encoding="utf-8") as out:
    out.write("".join(sorted(chars)))
subprocess.run(["pyftsubset", SRC, f"--font-number={index}", "--text-file=subset-chars.txt",
                "--layout-features=kern", "--no-hinting", "--output-file=NotoSansSC-gb2312.otf"], check=True)
print(f"font index {index}, {len(chars)} characters")
