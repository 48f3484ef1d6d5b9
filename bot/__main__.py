"""`python -m bot` and the `leadbot` console script."""

from bot.cli import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
