"""Stories and a topic description shared by the semantic tests (tests/matching/test_semantic.py,
tests/deploy/test_cli_tune.py). Cosines to DESCRIPTION with the shipped model: keyword story
0.47, the story told without the terms 0.68, interest rates 0.30 (0.48 to EXAMPLE), a drug
seizure 0.57."""

from __future__ import annotations

EXAMPLE = "Fishermen promised factory jobs abroad were sold to boat captains, beaten and never paid."
DESCRIPTION = (
    "People recruited with false promises of jobs, then held and forced to work without pay, "
    "on fishing boats, in factories or scam compounds."
)
STORIES = {
    "keyword": (
        "Court jails ring leader for human trafficking",
        "A provincial court jailed the leader of a human trafficking ring on Monday. The ring sent young women "
        "across the border with promises of restaurant work. Prosecutors said eleven victims testified.",
    ),
    "meaning": (
        "Men lured by job offers held on fishing vessels for two years",
        "Twelve men who answered an advertisement for factory work were taken to a port, put on fishing vessels "
        "and made to work twenty hours a day without wages. Their passports were taken by the captain and they "
        "were beaten when they asked to go home. A patrol found them last week.",
    ),
    "rates": (
        "Central bank keeps interest rates unchanged",
        "The central bank left its benchmark interest rate unchanged on Tuesday, citing steady inflation and "
        "slower growth in exports. Economists had expected the decision and markets barely moved.",
    ),
    "drugs": (
        "Police seize methamphetamine at the border",
        "Police seized two hundred kilograms of methamphetamine hidden in a truck at the border crossing and "
        "arrested the driver. The drugs were bound for the capital, officers said.",
    ),
}
