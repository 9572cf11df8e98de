"""Words a merchant reads about a supplier's hold and a channel's coded states."""

from connectors.backmarket import BackMarketConnector
from connectors.mirakl import MiraklConnector
from models.suppliers.outcomes import hold_text


def test_hold_reason_does_not_say_on_hold_twice():
    text = hold_text("ShipBob", "On hold — Invalid Address: street not found.")
    assert text.startswith("ShipBob put the order on hold: Invalid Address: street not found. Edit delivery address")
    assert "On hold" not in text
    assert hold_text("ShipBob", "").startswith("ShipBob put the order on hold: no reason given.")


def test_coded_channel_states_are_shown_with_their_words():
    assert BackMarketConnector.pairing.describe("3") == "3 (pending shipment)"
    assert BackMarketConnector.pairing.describe("42") == "42"
    assert MiraklConnector.pairing.describe("SHIPPING") == "SHIPPING"
