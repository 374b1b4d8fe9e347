{#- Persist plain-SQL macros in the database file so BI tools, which cannot run Python UDFs,
    can query the stored vectors. Tables are named schema-qualified but without a catalog, so the
    macros resolve in whatever catalog the file is opened as (open it directly or `USE` it). -#}
{% macro create_bi_macros() %}
{% if execute %}
    {% set assets = adapter.get_relation(database=target.database, schema=target.schema, identifier='int_assets_embedded') %}
    {% if assets is not none %}
        {% set sql %}
create or replace macro {{ target.schema }}.similar_assets(query_asset_id, k) as table
with query as (
    select vector, model_version
    from {{ target.schema }}.int_assets_embedded
    where asset_id = query_asset_id
),
scored as (
    select
        candidate.asset_id,
        candidate.brand,
        candidate.channel,
        candidate.market,
        candidate.asset_type,
        array_cosine_similarity(candidate.vector, query.vector) as similarity,
        candidate.model_version
    from {{ target.schema }}.int_assets_embedded as candidate, query
    where candidate.asset_id <> query_asset_id
        and candidate.model_version = query.model_version
)
select
    asset_id, brand, channel, market, asset_type, similarity,
    row_number() over (order by similarity desc, asset_id) as rank,
    model_version
from scored
qualify rank <= k
order by rank;

create or replace macro {{ target.schema }}.asset_similarity(asset_id_a, asset_id_b) as (
    select array_cosine_similarity(a.vector, b.vector)
    from {{ target.schema }}.int_assets_embedded as a, {{ target.schema }}.int_assets_embedded as b
    where a.asset_id = asset_id_a
        and b.asset_id = asset_id_b
        and a.model_version = b.model_version
);
        {% endset %}
        {% do run_query(sql) %}
        {{ log("semantic: persisted BI macros similar_assets(asset_id, k) and asset_similarity(a, b)", info=true) }}
    {% endif %}
    {% set curve = adapter.get_relation(database=target.database, schema=target.schema, identifier='dim_similarity_calibration_curve') %}
    {% if curve is not none %}
        {% set sql %}
create or replace macro {{ target.schema }}.match_probability(similarity, task_name) as (
    select {{ calibrated_probability('similarity', 'curve') }}
    from {{ target.schema }}.dim_similarity_calibration_curve as curve
    where curve.task = task_name
        and similarity >= curve.x0
        and similarity < curve.x1
);
        {% endset %}
        {% do run_query(sql) %}
        {{ log("semantic: persisted BI macro match_probability(similarity, task)", info=true) }}
    {% endif %}
{% endif %}
{% endmacro %}
