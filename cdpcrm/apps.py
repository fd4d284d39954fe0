from django.apps import AppConfig
from django.db.models.signals import post_migrate


class CdpcrmConfig(AppConfig):
    name = "cdpcrm"
    verbose_name = "cdpcrm"

    def ready(self) -> None:
        from .roles import roles_sync_on_migrate

        post_migrate.connect(roles_sync_on_migrate, dispatch_uid="cdpcrm.roles_sync")
