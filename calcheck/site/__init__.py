"""The compliance site: pure page generation, charts, and the one place that writes files and runs MkDocs."""
