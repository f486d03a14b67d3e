"""A rank under torchrun that records how `python -m deepgen_cli ARGS` ended: runs it, writes its pid and exit
status to DIR/rank-$RANK.json, exits with that status. It ignores SIGINT and SIGTERM itself (torchrun signals
the whole process group of each rank), so only deepgen decides how the rank ends.

    torchrun --nproc-per-node 2 tests/rank_exit.py DIR memorize ...
"""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

if __name__ == "__main__":
    out = Path(sys.argv[1]) / f"rank-{os.environ['RANK']}.json"
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    proc = subprocess.Popen([sys.executable, "-m", "deepgen_cli", *sys.argv[2:]],
                            preexec_fn=lambda: (signal.signal(signal.SIGINT, signal.SIG_DFL),
                                                signal.signal(signal.SIGTERM, signal.SIG_DFL)))
    out.with_suffix(".pid").write_text(str(proc.pid))
    code = proc.wait()
    out.write_text(json.dumps({"pid": proc.pid, "returncode": code}))
    sys.exit(code if code >= 0 else 128 - code)
