import sys
from blocktalk.cli import main
sys.exit(main())
