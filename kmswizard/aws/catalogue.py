"""The KMS action catalogue, read from botocore's KMS service model (never a hand-kept list)."""

from __future__ import annotations

from functools import cache

import botocore.session

from kmswizard.policy.actions import ActionCatalogue


@cache
def kms_catalogue() -> ActionCatalogue:
    model = botocore.session.get_session().get_service_model("kms")
    return ActionCatalogue.from_operations(model.operation_names)
