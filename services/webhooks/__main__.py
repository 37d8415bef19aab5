from services.webhooks.app import SPEC
from shared.entrypoint import main
from shared.service import serve

main(SPEC.name, lambda settings: serve(SPEC, settings))
