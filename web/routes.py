"""Every route handler of the app, collected from the areas (`web/<area>/`)."""

from web.accounts.account_page import AccountController
from web.accounts.login import LoginController
from web.accounts.two_step import TwoStepController
from web.channels.connection_issues import ConnectionIssuesController
from web.channels.pages import ChannelsController
from web.channels.reconciliation import ReconciliationController
from web.fulfilment.carriers import CarriersController
from web.metrics.pages import MetricsController
from web.notifications.pages import NotificationsController
from web.orders.acceptance import OrderAcceptanceController
from web.orders.actions import OrderActionsController
from web.orders.api import ApiOrdersController
from web.orders.api_acceptance import ApiAcceptanceController
from web.orders.api_closing import ApiClosingController
from web.orders.api_shipping import ApiShippingController
from web.orders.closing import OrderClosingController
from web.orders.pages import OrdersController
from web.orders.shipping import OrderShippingController
from web.stock.inventory import InventoryController
from web.suppliers.pages import SuppliersController
from web.suppliers.resubmit import SupplierResubmitController
from web.system.health import healthz, readyz
from web.system.settings_page import SettingsController
from web.unknown_paths import unknown_address

ROUTE_HANDLERS = [
    LoginController,
    AccountController,
    TwoStepController,
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
    unknown_address,  # last: only what nothing else answers
]
