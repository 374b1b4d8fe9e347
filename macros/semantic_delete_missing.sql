{#- Post-hook of the incremental embedding models: delete mirror rows whose key left the source
    or whose text became empty (they have no vector any more). -#}
{% macro semantic_delete_missing(key, source_relation, text_column='text') %}
    {% if not key or not source_relation %}
        {{ exceptions.raise_compiler_error("semantic_delete_missing: pass the key column and the source relation, e.g. semantic_delete_missing('asset_id', ref('stg_semantic__assets'))") }}
    {% endif %}
    {% if is_incremental() %}
delete from {{ this }}
where {{ key }} not in (
    select {{ key }} from {{ source_relation }}
    where {{ text_column }} is not null and trim({{ text_column }}) <> ''
)
    {% endif %}
{% endmacro %}
