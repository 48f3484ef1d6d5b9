"""Print the first ```bash block under a README heading, so CI runs the README's own command."""

import re
import sys
from pathlib import Path

heading = sys.argv[1]
text = Path(__file__).resolve().parents[1].joinpath("README.md").read_text(encoding="utf-8")
section = text.split(f"\n{heading}\n", 1)[1]
block = re.search(r"```bash\n(.*?)```", section, re.S)
if block is None:
    sys.exit(f"no ```bash block under {heading!r} in README.md")
print(block.group(1).strip())
