"""Extraction (tasks.ingest.extraction): fast mode's one known failure, a site's menu stored as
the article (issue #19 item 12), is detected and the page extracted again without fast mode."""

from __future__ import annotations

import trafilatura

from tasks.ingest import extract
from tasks.ingest.extraction import looks_like_navigation

ARTICLE = (
    "A equipe do Serviço de Atendimento Domiciliar registrou nesta manhã o arrombamento de dois dos cinco "
    "automóveis da unidade. Os veículos estavam sem as baterias e com marcas de depredação. Foi feito boletim de "
    "ocorrência e a polícia foi até o local. Os pacientes agendados para a manhã estão sendo reagendados."
)
MONTHS = ["Janeiro", "Fevereiro", "Março", "Abril", "Maio", "Junho", "Julho", "Agosto", "Setembro", "Outubro"]


def menu_page() -> bytes:
    """The shape of the real page (a municipal news site): a side column of ~300 menu and
    archive links, then the article as loose text after an image, ended by line breaks."""
    menu = "".join(f'<li><a href="/c/{i}">Conselho {i}</a></li>' for i in range(150))
    archive = "".join(
        f'<li><a href="/n?y={y}&m={m}">{name} <span>({m})</span></a></li>'
        for y in range(2005, 2019)
        for m, name in enumerate(MONTHS, 1)
    )
    return f"""<html><head><title>Atendimento</title></head><body>
<div class="row"><div class="col-md-3"><ul class="menu">{menu}</ul><ul>{archive}</ul></div><br>
<div class="col-md-9"><p class="titulo">Atendimento Domiciliar registra arrombamento</p>
<small><b>05/10/2018</b> - Categoria: <a href="/cat/19">Saúde</a></small><br><br>
<img src="/a.jpeg" style="float:right">{ARTICLE}<br><br><br><br><br>
</div></div></body></html>""".encode()


def test_fast_mode_storing_the_menu_is_caught_and_the_article_extracted_again() -> None:
    html = menu_page()
    fast = trafilatura.bare_extraction(trafilatura.load_html(html), fast=True, with_metadata=False)
    assert fast is not None and fast.text.startswith("Conselho 0\nConselho 1")  # the failure, as trafilatura has it
    result = extract(html, "https://city.example/news/1")
    assert result is not None and "arrombamento de dois dos cinco" in result.text
    assert "Conselho 12" not in result.text


def test_an_article_with_short_lines_that_are_not_links_is_not_navigation() -> None:
    poem = "\n".join(["The river rose", "at dawn", "and the boats", "were gone"] * 10)
    tree = trafilatura.load_html(f"<html><body><nav><a href='/'>Home</a></nav><p>{poem}</p></body></html>")
    assert not looks_like_navigation(poem, tree)
    menu = "\n".join(f"Conselho {i}" for i in range(40))
    assert looks_like_navigation(menu, trafilatura.load_html(menu_page()))
