"""Campaign domain errors."""


class CampaignNotFound(Exception):
    """No campaign with this id."""
