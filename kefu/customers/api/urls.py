from __future__ import annotations

from rest_framework.routers import SimpleRouter

from kefu.customers.api.views import AccountViewSet, ContactViewSet, CustomerViewSet, PremiseViewSet

router = SimpleRouter()
router.register("customers", CustomerViewSet, basename="api-customer")
router.register("accounts", AccountViewSet, basename="api-account")
router.register("premises", PremiseViewSet, basename="api-premise")
router.register("contacts", ContactViewSet, basename="api-contact")

urlpatterns = router.urls
