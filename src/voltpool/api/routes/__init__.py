"""The API's resources, one router per module, all under ``/v1``."""
