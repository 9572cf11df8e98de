"""Route handlers, one module per area of the dashboard."""

from web.controllers.api import ApiOrdersController
from web.controllers.api_acceptance import ApiAcceptanceController
from web.controllers.api_closing import ApiClosingController
from web.controllers.api_shipping import ApiShippingController
from web.controllers.carriers import CarriersController
from web.controllers.channels import ChannelsController
from web.controllers.health import healthz, readyz
from web.controllers.integrations import ConnectionIssuesController
from web.controllers.inventory import InventoryController
from web.controllers.login import LoginController
from web.controllers.metrics import MetricsController
from web.controllers.notifications import NotificationsController
from web.controllers.order_acceptance import OrderAcceptanceController
from web.controllers.order_actions import OrderActionsController
from web.controllers.order_closing import OrderClosingController
from web.controllers.order_shipping import OrderShippingController
from web.controllers.orders import OrdersController
from web.controllers.reconciliation import ReconciliationController
from web.controllers.settings import SettingsController
from web.controllers.supplier_resubmit import SupplierResubmitController
from web.controllers.suppliers import SuppliersController

ROUTE_HANDLERS = [
    LoginController,
    OrdersController,
    OrderActionsController,
    OrderClosingController,
    OrderShippingController,
    OrderAcceptanceController,
    ReconciliationController,
    ChannelsController,
    SuppliersController,
    SupplierResubmitController,
    InventoryController,
    ConnectionIssuesController,
    MetricsController,
    NotificationsController,
    SettingsController,
    CarriersController,
    ApiOrdersController,
    ApiClosingController,
    ApiShippingController,
    ApiAcceptanceController,
    healthz,
    readyz,
]
