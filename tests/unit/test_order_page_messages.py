"""What the order page says after sending to suppliers: one sentence per supplier, in its own words."""

from models.suppliers.dispatch import ProcessResult
from web.orders.page import address_sent_summary, dispatch_summary


def supplier_order(supplier: int, name: str, status: str, message: str) -> dict:
    return {"supplier": supplier, "supplier.name": name, "status": status, "last_message": message}


def test_process_names_each_supplier_in_its_own_sentence():
    rows = [
        supplier_order(1, "BigBuy", "processed", "Created at BigBuy as order 101"),
        supplier_order(2, "ShipBob", "processed", "Created at ShipBob as order 202."),
    ]
    message, level = dispatch_summary(ProcessResult(queued=["BigBuy", "ShipBob"]), rows)
    assert message == "Sent. BigBuy: Created at BigBuy as order 101. ShipBob: Created at ShipBob as order 202."
    assert level == "success"


def test_a_corrected_address_says_what_each_supplier_answered():
    rows = [
        supplier_order(1, "ShipBob", "processed", ""),
        supplier_order(2, "Warehouse", "on_hold", "On hold — Invalid Address: street not found."),
        supplier_order(3, "Late", "on_hold", "On hold — Invalid Address."),
        supplier_order(4, "BigBuy", "processed", "Created"),
    ]
    message, level = address_sent_summary(["ShipBob", "Warehouse", "Late"], rows, waiting={3})
    assert message == (
        "Address saved. Sent to ShipBob, which verified it. "
        "Sent to Warehouse, which answers: On hold — Invalid Address: street not found. "
        "Late did not answer yet; Waybill keeps sending it the corrected address."
    )
    assert level == "error"
    assert address_sent_summary(["ShipBob"], rows, set()) == (
        "Address saved. Sent to ShipBob, which verified it.",
        "success",
    )
    assert address_sent_summary(["Late"], rows, {3})[1] == "info"
