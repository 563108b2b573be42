"""`python -m readers …`: the card-reader agent run on a practice's post."""

from readers.agent.cli import main

raise SystemExit(main())
