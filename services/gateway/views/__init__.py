"""The HTTP views, one module per resource family; each lists its routes in `ROUTES`. (A
"handler" is a message handler of a back-end service; these answer HTTP requests.)"""
