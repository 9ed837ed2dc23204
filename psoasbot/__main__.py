from psoasbot.cli import main

raise SystemExit(main())
