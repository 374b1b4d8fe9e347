{#- One row per distinct text that a labelled pair gives instead of an id (text_a without left_id,
    text_b without right_id): int_labelled_texts_embedded embeds them, so pairs labelled in another
    system calibrate the thresholds and the pair decision like pairs of ids. text_id = content_hash. -#}
with pairs as (
    select * from {{ ref('stg_semantic__labelled_pairs') }}
),

texts as (
    select text_a as text from pairs where left_id is null and text_a is not null
    union
    select text_b as text from pairs where right_id is null and text_b is not null
),

final as (
    select
        {{ content_hash('text') }} as text_id,
        text,
        {{ content_hash('text') }} as content_hash
    from texts
)

select * from final
