"""python -m saylau."""

from saylau.cli import main

if __name__ == "__main__":
    main()
