"""Webhook inspector GUI: ListenerController (controller.py), EventsModel (model.py), WebhooksPage and
RecentEventsWidget (page.py), EventDetail (detail.py)."""
