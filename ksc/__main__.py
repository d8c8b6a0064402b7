import sys

from ksc.book.cli import main

sys.exit(main())
