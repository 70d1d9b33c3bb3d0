"""Analytics through Trino: ``loom sql`` and the Kafka catalog's table descriptions.

- :mod:`loom_cli.analytics.params` reads the ``@param`` header of a SQL file and
  binds ``:name`` placeholders as typed literals;
- :mod:`loom_cli.analytics.client` runs one statement and turns Trino's errors into
  one-line messages;
- :mod:`loom_cli.analytics.render` prints results as a table, CSV or JSON;
- :mod:`loom_cli.analytics.kafka_tables` generates ``deploy/trino/kafka-tables/``
  from the event contracts.
"""
