"""`python -m readers …`: the card-reader agent run on a practice's post."""

from readers.cli import main

raise SystemExit(main())
