{#- A table that is rebuilt only when what it is computed from changed, so a `dbt build` with nothing
    changed costs change detection only (the SQL side of semantic/vectors/fingerprints.py).

    The fingerprint is an md5 of the compiled SQL (which holds every var and macro the model used)
    and, for each relation the model reads (its refs and sources; an ephemeral ref's own inputs), the
    row count and an order-independent sum of row hashes. It is stored with the output's row count
    and row-hash sum in `semantic_model_fingerprints` beside the model once the build has committed.
    The model is skipped, and logged as "inputs unchanged", when the stored fingerprint is the
    same and the table still holds exactly the rows that were written.

    Otherwise dbt-duckdb's own table materialization builds it, hooks included. The model must be a
    function of what it reads: compiled SQL that calls a volatile function (the clock, random,
    uuid) or a `semantic_*` Python function (whose answer depends on the active encoder, not on the
    inputs) is always rebuilt, and so is every model under --full-refresh. -#}
{% materialization fingerprinted_table, adapter='duckdb', supported_languages=['sql'] %}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set existing_relation = load_cached_relation(this) -%}
  {%- set store = semantic_fingerprint_store(this) -%}
  {%- set volatile = modules.re.search('(?i)\\b(current_timestamp|current_date|current_time|localtimestamp|localtime)\\b|\\b(now|get_current_time|random|uuid|gen_random_uuid|semantic_[a-z_]+)\\s*\\(', compiled_code) -%}
  {%- set inputs = semantic_input_relations(model) -%}

  {%- set reason = none -%}
  {%- if should_full_refresh() -%}
    {%- set reason = 'full refresh' -%}
  {%- elif volatile -%}
    {%- set reason = 'its SQL calls ' ~ volatile.group(0) | replace('(', '') | trim ~ ', so it depends on more than its inputs' -%}
  {%- elif inputs is none -%}
    {%- set reason = 'an input relation is missing' -%}
  {%- elif existing_relation is none or not existing_relation.is_table -%}
    {%- set reason = 'no table yet' -%}
  {%- endif -%}

  {#- one query: this run's fingerprint and, when the table could be kept, the stored fingerprints
      and the table's current row hash -#}
  {%- set fingerprint = none -%}
  {%- if inputs is not none and not volatile -%}
    {%- set check = reason is none and load_cached_relation(store) is not none -%}
    {%- set found = semantic_fingerprint_check(compiled_code, inputs, store if check else none, this) -%}
    {%- set fingerprint = found[0] -%}
    {%- if reason is none -%}
      {%- if not check or found[1] is none -%}
        {%- set reason = 'no fingerprint stored' -%}
      {%- elif found[1] != fingerprint -%}
        {%- set reason = 'inputs changed' -%}
      {%- elif found[2] != found[3] -%}
        {%- set reason = 'the table was changed outside dbt' -%}
      {%- endif -%}
    {%- endif -%}
  {%- endif -%}

  {%- if reason is none -%}
    {{ log("semantic: " ~ this.identifier ~ ": inputs unchanged (fingerprint " ~ fingerprint[:12] ~ "), kept as built", info=true) }}
    {%- call statement('main') -%}
      select 'kept' as status
    {%- endcall -%}
    {{ return({'relations': [target_relation]}) }}
  {%- endif -%}

  {{ log("semantic: " ~ this.identifier ~ ": rebuilt (" ~ reason ~ ")", info=true) }}
  {%- set result = materialization_table_duckdb() -%}
  {%- if fingerprint is not none -%}
    {%- do semantic_store_fingerprint(store, this, fingerprint) -%}
  {%- endif -%}
  {{ return(result) }}
{% endmaterialization %}


{#- The relation that keeps the fingerprints: one per schema, beside the models. -#}
{% macro semantic_fingerprint_store(relation) %}
  {{ return(api.Relation.create(database=relation.database, schema=relation.schema,
                                identifier='semantic_model_fingerprints', type='table')) }}
{% endmacro %}


{#- The relations a model reads ({relation, exclude, where} each), or none when one of them does not
    exist (yet). An ephemeral ref is compiled into the model, so its own inputs count instead. A model
    that reads only some rows of a relation names them in meta fingerprint_where ({relation name:
    condition}), so the other rows changing does not rebuild it. -#}
{% macro semantic_input_relations(node) %}
  {%- set found = [] -%}
  {%- for unique_id in node.depends_on.nodes -%}
    {%- set parent = graph.nodes.get(unique_id) or graph.sources.get(unique_id) -%}
    {%- if parent is none -%}
      {{ return(none) }}
    {%- endif -%}
    {%- if parent.resource_type == 'model' and parent.config.materialized == 'ephemeral' -%}
      {%- set nested = semantic_input_relations(parent) -%}
      {%- if nested is none -%}
        {{ return(none) }}
      {%- endif -%}
      {%- do found.extend(nested) -%}
    {%- else -%}
      {%- set identifier = parent.identifier if parent.resource_type == 'source' else parent.alias -%}
      {%- set relation = adapter.get_relation(database=parent.database, schema=parent.schema, identifier=identifier) -%}
      {%- if relation is none -%}
        {{ return(none) }}
      {%- endif -%}
      {%- set exclude = (parent.config.get('meta') or {}).get('fingerprint_exclude') or [] -%}
      {%- set where = ((node.config.get('meta') or {}).get('fingerprint_where') or {}).get(parent.name) -%}
      {%- do found.append({'relation': relation, 'exclude': exclude, 'where': where}) -%}
    {%- endif -%}
  {%- endfor -%}
  {{ return(found) }}
{% endmacro %}


{#- Row count and order-independent sum of row hashes of a relation, as SQL text; `exclude` lists
    columns determined by the others (meta fingerprint_exclude of the node that writes them), `where`
    the rows that count (meta fingerprint_where of the node that reads them). -#}
{% macro semantic_rows_hash_sql(relation, exclude=[], where=none) -%}
(select count(*)::varchar || ':' || coalesce(sum(hash(_rows)::hugeint), 0)::varchar
 from (select * {%- if exclude %} exclude ({{ exclude | join(', ') }}){% endif %} from {{ relation }}
       {%- if where %} where {{ where }}{% endif %}) as _rows)
{%- endmacro %}


{#- (this run's inputs fingerprint, stored inputs fingerprint, stored rows fingerprint, the table's
    rows fingerprint now), the last three only when `store` is given (else none). -#}
{% macro semantic_fingerprint_check(compiled_code, inputs, store, relation) %}
  {%- set parts = ["'fingerprinted_table v1'", "'" ~ local_md5(compiled_code) ~ "'"] -%}
  {%- for input in inputs | sort(attribute='relation.identifier') -%}
    {%- do parts.append("'" ~ input.relation.render() | replace("'", "''") ~ "'") -%}
    {%- do parts.append(semantic_rows_hash_sql(input.relation, input.exclude, input.get('where'))) -%}
  {%- endfor -%}
  {%- set sql -%}
    select md5(concat_ws('|', {{ parts | join(', ') }}))
    {%- if store is not none -%}
      {%- set key = relation.render() | replace("'", "''") %},
        (select inputs_fingerprint from {{ store }} where model_relation = '{{ key }}'),
        (select rows_fingerprint from {{ store }} where model_relation = '{{ key }}'),
        {{ semantic_rows_hash_sql(relation) }}
    {%- else %}, null, null, null
    {%- endif %}
  {%- endset -%}
  {%- set row = run_query(sql).rows[0] -%}
  {{ return((row[0], row[1], row[2], row[3])) }}
{% endmacro %}


{#- Record the fingerprint a model was built from, with the row hash of what it wrote. -#}
{% macro semantic_store_fingerprint(store, relation, fingerprint) %}
  {%- call statement('semantic_store_fingerprint', auto_begin=False) -%}
    create table if not exists {{ store }} (
        model_relation varchar primary key,
        inputs_fingerprint varchar not null,
        rows_fingerprint varchar not null,
        built_at timestamp not null
    );
    insert or replace into {{ store }}
    select '{{ relation.render() | replace("'", "''") }}', '{{ fingerprint }}', {{ semantic_rows_hash_sql(relation) }},
           timezone('UTC', current_timestamp);
  {%- endcall -%}
  {%- if load_cached_relation(store) is none -%}
    {%- do adapter.cache_added(store) -%}
  {%- endif -%}
{% endmacro %}
