from ferlab.cli import main

raise SystemExit(main())
