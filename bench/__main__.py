import sys

from bench import imports
from bench.cli import main

if sys.argv[1:2] == ["imports"]:
    raise SystemExit(imports.main(sys.argv[2:]))
raise SystemExit(main())
