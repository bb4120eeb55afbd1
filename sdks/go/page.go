package petstore

import (
	"context"
	"net/url"
)

// Page is one page of a list. Lists without pages (keys, invoices) are one page with Next nil.
type Page[T any] struct {
	APIResource
	Count    int     `json:"count"`
	Next     *string `json:"next"`
	Previous *string `json:"previous"`
	Results  []T     `json:"results"`

	client *Client
	name   string
	opts   []RequestOption
}

// HasNextPage says whether NextPage has a page to fetch.
func (p *Page[T]) HasNextPage() bool { return p.Next != nil && *p.Next != "" }

// NextPage fetches the following page (nil after the last), from the client's own base URL
// with the parameters of the Next link.
func (p *Page[T]) NextPage(ctx context.Context) (*Page[T], error) {
	if !p.HasNextPage() {
		return nil, nil
	}
	next, err := url.Parse(*p.Next)
	if err != nil {
		return nil, err
	}
	return fetchPage[T](ctx, p.client, p.name, next.Query(), p.opts)
}

func fetchPage[T any](ctx context.Context, c *Client, name string, query url.Values, opts []RequestOption) (*Page[T], error) {
	page := &Page[T]{Count: -1}
	if _, err := c.do(ctx, call{name: name, query: query, opts: opts}, page); err != nil {
		return nil, err
	}
	if page.Count < 0 {
		page.Count = len(page.Results)
	}
	page.client, page.name, page.opts = c, name, opts
	return page, nil
}

// Iter walks every item of a list, page after page:
//
//	it := client.Pets.ListAll(ctx, nil)
//	for it.Next() {
//		pet := it.Current()
//	}
//	if err := it.Err(); err != nil { … }
type Iter[T any] struct {
	ctx     context.Context
	fetch   func() (*Page[T], error)
	page    *Page[T]
	index   int
	current T
	err     error
}

func newIter[T any](ctx context.Context, first func() (*Page[T], error)) *Iter[T] {
	return &Iter[T]{ctx: ctx, fetch: first, index: -1}
}

// Next advances to the next item, fetching the next page when needed; false at the end or on
// an error (see Err).
func (it *Iter[T]) Next() bool {
	if it.err != nil {
		return false
	}
	for {
		if it.page != nil && it.index+1 < len(it.page.Results) {
			it.index++
			it.current = it.page.Results[it.index]
			return true
		}
		var page *Page[T]
		var err error
		switch {
		case it.page == nil && it.fetch != nil:
			page, err = it.fetch()
			it.fetch = nil
		case it.page != nil && it.page.HasNextPage():
			page, err = it.page.NextPage(it.ctx)
		default:
			return false
		}
		if err != nil {
			it.err = err
			return false
		}
		it.page, it.index = page, -1
	}
}

// Current is the item Next moved to.
func (it *Iter[T]) Current() T { return it.current }

// Err is the error that stopped the iteration, if any.
func (it *Iter[T]) Err() error { return it.err }

// Page is the page the current item came from (its LastResponse has the headers).
func (it *Iter[T]) Page() *Page[T] { return it.page }
