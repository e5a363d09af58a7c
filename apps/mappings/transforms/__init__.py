"""Rich-text conversion between Azure DevOps HTML, Atlassian Document Format and Jira wiki markup.

Pure functions, no Django: each takes the source value and optional resolvers and returns a
`Conversion(value, warnings)`. See README.md, "Rich text conversion".
"""

from .adf_to_html import adf_to_html
from .html_to_adf import html_to_adf
from .html_to_wiki import html_to_wiki
from .results import Conversion, ConversionWarning, ImageResolver, ImageTarget, PersonResolver, PersonTarget
from .sanitise import sanitise_html
from .wiki_to_html import wiki_to_html

__all__ = [
    "Conversion",
    "ConversionWarning",
    "ImageResolver",
    "ImageTarget",
    "PersonResolver",
    "PersonTarget",
    "adf_to_html",
    "html_to_adf",
    "html_to_wiki",
    "sanitise_html",
    "wiki_to_html",
]
