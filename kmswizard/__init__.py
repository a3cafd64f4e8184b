"""kmswizard: share an AWS KMS key with other AWS accounts, safely."""

__version__ = "0.1.0"
