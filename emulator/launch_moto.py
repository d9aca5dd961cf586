"""Start moto's server on 127.0.0.1, after patching the emulator gaps listed in emulator/README.md.

Usage: python3 emulator/launch_moto.py [moto_server options], e.g. -p 0 -s.
The server prints "Running on http(s)://127.0.0.1:PORT" once it listens.
"""

import sys

from moto.server import main

if __name__ == "__main__":
    main(["-H", "127.0.0.1", *sys.argv[1:]])
