"""Route handlers, one module per area of the dashboard."""

from web.controllers.api import ApiOrdersController
from web.controllers.channels import ChannelsController
from web.controllers.health import healthz
from web.controllers.integrations import ConnectionIssuesController
from web.controllers.login import LoginController
from web.controllers.order_actions import OrderActionsController
from web.controllers.orders import OrdersController
from web.controllers.settings import SettingsController
from web.controllers.suppliers import SuppliersController

ROUTE_HANDLERS = [
    LoginController,
    OrdersController,
    OrderActionsController,
    ChannelsController,
    SuppliersController,
    ConnectionIssuesController,
    SettingsController,
    ApiOrdersController,
    healthz,
]
