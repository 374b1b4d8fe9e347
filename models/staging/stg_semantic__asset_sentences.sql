{#- One row per sentence of each asset that has more than one: what the compliance check compares
    with the rejected claims, so one bad sentence in long copy is not diluted by the rest.
    The split rule ([.!?] followed by whitespace) is semantic.decisions.compliance.split_sentences.
    Materialised as a table: three nodes of each build read it. -#}
{{ config(materialized='fingerprinted_table') }}

with assets as (
    select asset_id, market, regexp_split_to_array(text, '[.!?]+\s+') as parts
    from {{ ref('stg_semantic__assets') }}
    where text is not null
),

sentences as (
    select
        asset_id,
        market,
        unnest(parts) as text,
        unnest(generate_series(1, len(parts))) as position,
        len(parts) as n_parts
    from assets
),

final as (
    select
        asset_id || '#' || position as sentence_id,
        asset_id,
        market,
        position,
        trim(text) as text,
        {{ content_hash('trim(text)') }} as content_hash
    from sentences
    where n_parts > 1
        and length(trim(text)) >= {{ var('compliance_min_sentence_chars') }}
)

select * from final
