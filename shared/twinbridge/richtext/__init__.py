"""Rich text between ADF (Jira Cloud), wiki markup (Jira DC) and HTML (Azure DevOps) through one canonical tree."""

from .convert import Canonical, Converted, Format, convert, from_canonical, to_canonical
from .model import Document, Loss, plain_text

__all__ = ["Canonical", "Converted", "Document", "Format", "Loss", "convert", "from_canonical", "plain_text",
           "to_canonical"]
