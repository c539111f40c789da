"""The one paging rule of the CloudWatch and CloudWatch Logs listings: a page from the token's
offset, and the next page's token only while items are left."""

import pytest

from aerodrome.services.cloudwatch import CloudWatchError, next_token, page


def test_pages_follow_each_other_to_the_last_which_has_no_token():
    items, payload, seen = list(range(7)), {}, []
    while True:
        shown, more = page(items, payload, 3)
        seen.append(list(shown))
        if not more:
            break
        payload = {"NextToken": more["NextToken"]}
    assert seen == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_last_full_page_has_no_token_and_the_token_goes_under_the_given_key():
    assert page(list(range(4)), {}, 4) == ([0, 1, 2, 3], {})
    assert page(list(range(5)), {}, 4, key="nextToken") == ([0, 1, 2, 3], {"nextToken": next_token(4)})
    assert page(list(range(5)), {"nextToken": next_token(4)}, 4, key="nextToken") == ([4], {})
    assert page([], {}, 4) == ([], {})


@pytest.mark.parametrize("token", ["nope!", next_token(-2)])
def test_a_token_not_given_out_is_an_error_with_the_callers_code(token):
    with pytest.raises(CloudWatchError) as caught:
        page([1, 2], {"NextToken": token}, 1, code="InvalidNextToken")
    assert caught.value.code == "InvalidNextToken"
    assert str(caught.value) == "The NextToken is not one this service gave out."
