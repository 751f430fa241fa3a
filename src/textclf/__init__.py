"""textclf: a HuggingFace text classifier with a GitOps CI/CD/CT loop on AWS."""

__version__ = "0.1.0"
