from js7tui.cli import main

raise SystemExit(main())
