"""One pull request reviewed: its figures, the verdict, the texts, publishing, nudges."""
