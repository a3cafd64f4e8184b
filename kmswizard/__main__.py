from kmswizard.cli import main

raise SystemExit(main())
