"""``python -m runyard`` runs the command line."""

from runyard.cli import main

if __name__ == "__main__":
    main()
